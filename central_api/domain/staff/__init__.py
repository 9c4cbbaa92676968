"""Each store's staff at central: names and PIN hashes, sent to the store's kiosks with
its data (the device unlocks staff screens offline)."""
