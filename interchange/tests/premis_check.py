#!/usr/bin/env python3
"""Checks a PREMIS 3 XML file: validated against the PREMIS 3.0 XML
schema (premis/premis-v3-0.xsd, source and licence in premis/README.md)
with xmlschema (PyPI), then against the elements and order the PREMIS
3.0 data dictionary requires for the parts Legation writes, the LOC
event types, ISO 8601 date-times and links to agents and objects in the
document:

    python3 interchange/tests/premis_check.py FILE

Prints what is wrong and exits 1, or prints "PREMIS ok: ..." and exits 0.
"""
import os
import sys
import xml.etree.ElementTree as ET

import xmlschema

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "premis", "premis-v3-0.xsd")

NS = "{http://www.loc.gov/premis/v3}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"

# Each element: its children's allowed names, in order, with (min, max)
# occurrences (None: unbounded). Only elements Legation writes are listed;
# any other child is an error.
ORDER = {
    "premis": [("object", 1, None), ("event", 0, None), ("agent", 0, None), ("rights", 0, None)],
    "object": [("objectIdentifier", 1, None), ("preservationLevel", 0, None),
               ("significantProperties", 0, None), ("objectCharacteristics", 1, None),
               ("originalName", 0, 1), ("storage", 0, None), ("signatureInformation", 0, None),
               ("environmentFunction", 0, None), ("relationship", 0, None),
               ("linkingEventIdentifier", 0, None)],
    "objectIdentifier": [("objectIdentifierType", 1, 1), ("objectIdentifierValue", 1, 1)],
    "objectCharacteristics": [("compositionLevel", 0, 1), ("fixity", 0, None), ("size", 0, 1),
                              ("format", 1, None), ("creatingApplication", 0, None)],
    "fixity": [("messageDigestAlgorithm", 1, 1), ("messageDigest", 1, 1), ("messageDigestOriginator", 0, 1)],
    "format": [("formatDesignation", 0, 1), ("formatRegistry", 0, 1), ("formatNote", 0, None)],
    "formatDesignation": [("formatName", 1, 1), ("formatVersion", 0, 1)],
    "formatRegistry": [("formatRegistryName", 1, 1), ("formatRegistryKey", 1, 1), ("formatRegistryRole", 0, 1)],
    "event": [("eventIdentifier", 1, 1), ("eventType", 1, 1), ("eventDateTime", 1, 1),
              ("eventDetailInformation", 0, None), ("eventOutcomeInformation", 0, None),
              ("linkingAgentIdentifier", 0, None), ("linkingObjectIdentifier", 0, None)],
    "eventIdentifier": [("eventIdentifierType", 1, 1), ("eventIdentifierValue", 1, 1)],
    "eventDetailInformation": [("eventDetail", 0, 1), ("eventDetailExtension", 0, None)],
    "eventOutcomeInformation": [("eventOutcome", 0, 1), ("eventOutcomeDetail", 0, None)],
    "eventOutcomeDetail": [("eventOutcomeDetailNote", 0, 1), ("eventOutcomeDetailExtension", 0, None)],
    "linkingAgentIdentifier": [("linkingAgentIdentifierType", 1, 1), ("linkingAgentIdentifierValue", 1, 1),
                               ("linkingAgentRole", 0, None)],
    "linkingObjectIdentifier": [("linkingObjectIdentifierType", 1, 1), ("linkingObjectIdentifierValue", 1, 1),
                                ("linkingObjectRole", 0, None)],
    "agent": [("agentIdentifier", 1, None), ("agentName", 0, None), ("agentType", 0, 1),
              ("agentVersion", 0, 1), ("agentNote", 0, None), ("agentExtension", 0, None),
              ("linkingEventIdentifier", 0, None)],
    "agentIdentifier": [("agentIdentifierType", 1, 1), ("agentIdentifierValue", 1, 1)],
}
# The Library of Congress eventType vocabulary, the terms Legation uses.
EVENT_TYPES = {"ingestion", "modification", "validation", "format identification", "rendering", "fixity check",
               "message digest calculation", "encryption", "digital signature generation",
               "digital signature validation", "information package creation", "migration"}
DATETIME = __import__("re").compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def local(tag):
    if not tag.startswith(NS):
        raise ValueError("element %s is not in the PREMIS 3 namespace" % tag)
    return tag[len(NS):]


def check(el, path, errors):
    name = local(el.tag)
    rules = ORDER.get(name)
    children = list(el)
    if rules is None:
        if children:
            errors.append("%s: a leaf has children" % path)
        elif not (el.text or "").strip():
            errors.append("%s: empty" % path)
        return
    i = 0
    for child_name, lo, hi in rules:
        n = 0
        while i < len(children) and local(children[i].tag) == child_name:
            check(children[i], "%s/%s[%d]" % (path, child_name, n + 1), errors)
            i += 1
            n += 1
        if n < lo or (hi is not None and n > hi):
            errors.append("%s: %d %s, expected %d..%s" % (path, n, child_name, lo, hi if hi is not None else "n"))
    if i < len(children):
        errors.append("%s: %s is out of order or not allowed here" % (path, local(children[i].tag)))


def main():
    schema = xmlschema.XMLSchema10(SCHEMA)
    errors = ["schema: %s" % " ".join(str(e.reason or e).split()) for e in schema.iter_errors(sys.argv[1])]
    root = ET.parse(sys.argv[1]).getroot()
    if root.tag != NS + "premis":
        errors.append("the root is %s, not premis:premis" % root.tag)
    if root.get("version") != "3.0":
        errors.append("premis@version is %r, not 3.0" % root.get("version"))
    check(root, "premis", errors)
    agents = {(a.findtext(NS + "agentIdentifier/" + NS + "agentIdentifierType"),
               a.findtext(NS + "agentIdentifier/" + NS + "agentIdentifierValue")) for a in root.findall(NS + "agent")}
    objects = set()
    for o in root.findall(NS + "object"):
        if o.get(XSI + "type") not in ("premis:file", "premis:representation", "premis:intellectualEntity"):
            errors.append("an object's xsi:type is %r" % o.get(XSI + "type"))
        for oid in o.findall(NS + "objectIdentifier"):
            objects.add((oid.findtext(NS + "objectIdentifierType"), oid.findtext(NS + "objectIdentifierValue")))
    for e in root.findall(NS + "event"):
        kind = e.findtext(NS + "eventType")
        if kind not in EVENT_TYPES:
            errors.append("eventType %r is not in the LOC vocabulary's terms used here" % kind)
        if not DATETIME.match(e.findtext(NS + "eventDateTime") or ""):
            errors.append("eventDateTime %r is not an ISO 8601 date and time" % e.findtext(NS + "eventDateTime"))
        for la in e.findall(NS + "linkingAgentIdentifier"):
            key = (la.findtext(NS + "linkingAgentIdentifierType"), la.findtext(NS + "linkingAgentIdentifierValue"))
            if key not in agents:
                errors.append("event %s links agent %r, which is not in the document" % (kind, key))
        for lo in e.findall(NS + "linkingObjectIdentifier"):
            key = (lo.findtext(NS + "linkingObjectIdentifierType"), lo.findtext(NS + "linkingObjectIdentifierValue"))
            if key not in objects:
                errors.append("event %s links object %r, which is not in the document" % (kind, key))
    if errors:
        for e in errors[:50]:
            print(e)
        sys.exit(1)
    print("PREMIS ok (valid against the PREMIS 3.0 schema): %d objects, %d events, %d agents" % (
        len(root.findall(NS + "object")), len(root.findall(NS + "event")), len(agents)))


if __name__ == "__main__":
    main()
