"""Every question the product answers, as plain functions; the viewer's scope is applied here."""
