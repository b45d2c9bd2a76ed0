"""Reusable test parts: real local servers standing in for the web and Discord."""
