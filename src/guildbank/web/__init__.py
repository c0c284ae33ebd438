"""The server-rendered side: landing page now, the admin dashboard under /admin."""
