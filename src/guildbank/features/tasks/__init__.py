"""Tasks: members claim a task, submit proof, a moderator reviews, the reward is paid once."""
