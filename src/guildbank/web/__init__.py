"""The dashboard kit: login, sessions, the page guard, templates and charts that every
feature's pages share. It names no feature but guilds, which says who may open which server."""
