"""Reusable widgets: number pad, era picker, large buttons."""
