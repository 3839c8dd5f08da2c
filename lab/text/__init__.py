"""Text: one catalogue per language for every sentence, label, help text and chart text.

lab.text.en and lab.text.ko hold the texts (the same keys in each); lab.text.i18n looks them up
(translate, fact_sentences, chart_labels, description, LANGUAGES). Imports nothing else of lab.
"""
