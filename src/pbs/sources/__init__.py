"""The pinned sources: fetched from their locations or mirrors, verified by hash, published
into the cache, and unpacked safely."""
