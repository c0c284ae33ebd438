"""Structured logging (structlog): JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure_logging"]


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    """Look sys.stderr up when a logger is made, not once at start (it may be swapped)."""
    return structlog.PrintLogger(sys.stderr)


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
