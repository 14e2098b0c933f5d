#!/usr/bin/env bash
# The demo: builds the release binary; for every shipped cfg prints its totals, makes random
# weights and checks them (and times the backbones); then runs each detector cfg on Darknet's
# sample images and writes the annotated pictures.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build -c release --static-swift-stdlib --product swift-darknet
bin=.build/release/swift-darknet
out=demo-output
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Random weights score boxes anywhere up to 1, differently per network: each gets a threshold
# high enough that its pictures stay readable.
declare -A thresh=([yolov3-tiny]=0.965 [yolov3]=0.8 [yolov3-mobilenetv2]=0.8 [res2net-yolov3]=0.95 [res2net-triangle-yolov3]=0.99)
detectors=()
for cfg in cfg/*.cfg; do
    name=$(basename "$cfg" .cfg)
    echo "=== $cfg"
    $bin summary "$cfg" | tail -5
    $bin init "$cfg" "$work/$name.weights"
    $bin inspect "$cfg" "$work/$name.weights" | sed -n 1p  # the verdict; the table follows it
    if [ -n "${thresh[$name]:-}" ]; then
        detectors+=("$name")
    else
        $bin bench "$cfg" "$work/$name.weights" --runs 3
    fi
done

images=(/usr/share/darknet/data/{dog,horses,eagle,giraffe}.jpg)
echo
echo "=== detect: Darknet's sample images, each detector on the random weights made above"
for name in "${detectors[@]}"; do
    echo "--- $name (--thresh ${thresh[$name]})"
    # One line per image (its objects, its time, its picture); the objects' own lines are left out.
    $bin detect "cfg/$name.cfg" "$work/$name.weights" "${images[@]}" --thresh "${thresh[$name]}" --out "$out/$name" 2>&1 | grep -v '^  '
done
echo
echo "The annotated pictures are in $out/<cfg>/, e.g. $out/yolov3/dog.png."
echo "Random weights find random things: these boxes show the pipeline at work, not what is in the pictures."
echo "To find what is there, run it with Darknet's trained weights for cfg/yolov3.cfg (yolov3.weights):"
echo "  $bin detect cfg/yolov3.cfg yolov3.weights /usr/share/darknet/data/dog.jpg"
