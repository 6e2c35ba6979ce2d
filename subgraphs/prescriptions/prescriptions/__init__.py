"""Prescriptions: issued by an appointment's doctor, read by their patient, changed by status."""
