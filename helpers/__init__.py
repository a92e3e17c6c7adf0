"""Helper modules for the serverless image-processing workbook."""
