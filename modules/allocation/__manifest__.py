{
    "name": "allocation",
    "version": "0.1.0",
    "summary": "Allocation plans to provinces and sites, approved into shipments",
    "depends": ["transport"],
}
