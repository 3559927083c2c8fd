"""Japanese field types: 和暦 dates, kana, names, addresses, 個人番号."""
