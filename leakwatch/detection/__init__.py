"""Detection: reading items into documents and finding protected records and watch terms in them."""
