#! /bin/bash
# Sourced by FAI. Tasks this base replaces with its own hooks, or never wants:
# savelog would copy the build logs into the image, faiend would reboot.
if ! ifclass BUILD_IMAGE; then
    skiptask partition mountdisks
fi
skiptask chboot savelog faiend
