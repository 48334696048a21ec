{
    "name": "injection",
    "version": "0.1.0",
    "summary": "People, injections, dose rules, certificates, reminders, backlog import",
    "depends": ["warehouse"],
}
