{
    "name": "transport",
    "version": "0.1.0",
    "summary": "Cold-chain shipments: picking, dispatch, temperature logs, receipt, manifests",
    "depends": ["warehouse"],
}
