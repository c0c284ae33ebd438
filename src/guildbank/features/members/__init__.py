"""Members: the list, a member's page, inactive members, reactivation, cleanup and the
economy reset."""
