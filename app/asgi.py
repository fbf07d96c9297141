"""ASGI entry point for uvicorn workers: ``uvicorn --factory app.asgi:create``."""

from fastapi import FastAPI

from app.factory import create_app
from app.settings import load_settings


def create() -> FastAPI:
    return create_app(load_settings())
