"""Squads: teams tied to Discord roles, joined for a fee."""
