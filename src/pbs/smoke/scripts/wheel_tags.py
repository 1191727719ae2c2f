"""Print the wheel tags pip finds this interpreter supports, most specific first, one a line."""

from pip._vendor.packaging.tags import sys_tags

for tag in sys_tags():
    print(tag)
