#!/bin/sh
echo "hello from an ext4 image"
