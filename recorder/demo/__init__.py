"""The bundled demo: a real provider and consumers on loopback, recorded through the proxy."""
