"""The registry builds every process from the features' declarations, and the web process
does not pay for the Discord side it never runs."""

from __future__ import annotations

import subprocess
import sys

from guildbank.runtime.registry import FEATURES


def test_every_feature_is_registered_once_with_its_tabs_in_order() -> None:
    assert [feature.name for feature in FEATURES] == [
        "guilds",
        "economy",
        "members",
        "squads",
        "shop",
        "tasks",
        "announcements",
        "archive",
        "imports",
        "backup",
        "outbox",
    ]
    tabs = sorted((link for f in FEATURES for link in f.nav), key=lambda link: link.order)
    assert [link.label for link in tabs] == [
        "Overview",
        "Settings",
        "Members",
        "Squads",
        "Shop",
        "Tasks",
        "Announcements",
        "Embeds",
        "Transactions",
        "Archive",
        "API keys",
        "Sync",
        "Import",
    ]


def test_the_web_app_imports_no_discord_library() -> None:
    probe = (
        "import sys, guildbank.runtime.app; "
        "print(sorted(m for m in ('hikari', 'lightbulb') if m in sys.modules))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed program
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_bot_gets_every_features_commands() -> None:
    loaders = [loader for feature in FEATURES for loader in feature.command_loaders()]
    assert len(loaders) == 6  # economy 2, squads 1, shop 1, tasks 2 (announcements: none)
