"""Storeloop: store-linked promotions backend. Domain code, no HTTP or Lambda here
except in the `*/routes.py` modules and `web.py`, which are the HTTP edge."""
