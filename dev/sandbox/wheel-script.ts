/**
 * The Python program that writes the stand-in wheels. Python's own `zipfile`, `csv` and `hashlib` write
 * exactly the format pip reads, which is safer than imitating a zip writer in TypeScript.
 *
 * Run as `python3 -c WHEEL_SCRIPT <out-dir>` with a JSON list of specs on stdin:
 * `{ key, name, module, version, scripts }` (`key` the name the caller asked for, `name` as METADATA
 * spells it, `module` the package directory, `scripts` console-script names pointing at
 * `<module>.cli:main`). Prints `{ "<key>": "<wheel file>" }`.
 * Every zip entry has a fixed date and mode, so the same specs give the same bytes.
 */
export const WHEEL_SCRIPT = `
import base64, csv, hashlib, io, json, re, sys, zipfile

out_dir = sys.argv[1]
specs = json.load(sys.stdin)
built = {}

def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")

for spec in specs:
    name, version, module, scripts = spec["name"], spec["version"], spec["module"], spec["scripts"]
    # The wheel spec's escaping: runs of anything but letters, digits and dots become one underscore.
    stem = re.sub(r"[^A-Za-z0-9.]+", "_", name)
    dist_info = f"{stem}-{version}.dist-info"
    files = {f"{module}/__init__.py": f'"""Sandbox stand-in for {name}."""\\n__version__ = "{version}"\\n'}
    if scripts:
        files[f"{module}/cli.py"] = f'def main():\\n    print("{name} {version} (sandbox stand-in)")\\n    return 0\\n'
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
        f"Summary: Sandbox stand-in for {name}\\nLicense: MIT\\nRequires-Python: >=3.8\\n"
    )
    files[f"{dist_info}/WHEEL"] = "Wheel-Version: 1.0\\nGenerator: rollback-manager-sandbox\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    files[f"{dist_info}/top_level.txt"] = module + "\\n"
    if scripts:
        lines = "".join(f"{s} = {module}.cli:main\\n" for s in scripts)
        files[f"{dist_info}/entry_points.txt"] = "[console_scripts]\\n" + lines
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\\n")
    blobs = {path: text.encode("utf-8") for path, text in files.items()}
    for path, data in blobs.items():
        writer.writerow([path, record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    blobs[f"{dist_info}/RECORD"] = record.getvalue().encode("utf-8")
    wheel = f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(f"{out_dir}/{wheel}", "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in blobs.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    built[spec["key"]] = wheel

print(json.dumps(built))
`;
