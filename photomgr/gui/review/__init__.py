"""Review mode: the photos a label is least sure about, one key to confirm or reject each."""
