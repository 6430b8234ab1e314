"""Gradio web app for analysts; imports only ``interestlens.agent`` (plus gradio and plotly)."""

from interestlens.ui.app import build_app, serve

__all__ = ["build_app", "serve"]
