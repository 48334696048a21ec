{
    "name": "lots",
    "version": "0.1.0",
    "summary": "Vaccine catalogue, lots and their status, GS1 barcode scanning, labels",
    "depends": [],
}
