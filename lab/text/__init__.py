"""Text: one catalogue per language (en, ko) for every sentence, label, help text and chart text.

Imports nothing else of lab but lab.science (names of activations).
"""
