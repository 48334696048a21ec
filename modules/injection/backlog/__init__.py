"""Backlog import ("nhập hồi cứu"): past injections from spreadsheets, one row per person and up to four
doses, read tolerantly, normalised, validated and written as history (source "backlog")."""
