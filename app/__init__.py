"""The Streamlit app's own code: views, the experiment form, server caches, the training queue and URL state.

UI only: everything computed comes from lab/, which never imports this package.
"""
