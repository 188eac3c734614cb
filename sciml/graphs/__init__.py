"""Learned steppers on meshes and graphs."""
