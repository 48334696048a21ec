{
    "name": "warehouse",
    "version": "0.1.0",
    "summary": "Locations, double-entry stock ledger, receipts, counts and FEFO",
    "depends": ["lots"],
}
