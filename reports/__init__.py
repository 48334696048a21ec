"""All PDF and Excel output. Takes plain data, knows no models."""
