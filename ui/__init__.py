"""Gradio chat UI (built in a later issue); imports only ``interestlens.agent``."""
