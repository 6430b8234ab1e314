"""Prompt files (data only): read by ``interestlens.agent.prompts``."""
