// wikidex web page (placeholder)
