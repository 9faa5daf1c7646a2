"""The run dashboard: live run pages in the browser and the static HTML report."""
