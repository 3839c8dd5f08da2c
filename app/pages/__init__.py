"""The app's pages (st.Page scripts), one per entry of the navigation.
"""
