"""A full-screen curses program with a panel: runs under pty_session.py."""

import curses
import curses.panel


def main(screen: curses.window) -> str:
    window = curses.newwin(3, 30, 2, 2)
    panel = curses.panel.new_panel(window)
    window.addstr(1, 1, "pbs panel")
    screen.addstr(0, 0, "pbs curses screen")
    screen.refresh()
    curses.panel.update_panels()
    curses.doupdate()
    panel.hide()
    return f"{curses.termname().decode()} {curses.COLORS if curses.has_colors() else 0} colors"


print("curses done:", curses.wrapper(main))
