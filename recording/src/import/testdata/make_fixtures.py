#!/usr/bin/env python3
"""Writes the small synthetic exports the importer's tests read, each in the layout its tool
documents: Tobii Studio TSV and CSV (semicolon, decimal comma), Tobii Pro Lab TSV with decimal
points and with decimal commas, and a plain CSV. Run from this folder: python3 make_fixtures.py
(Python 3 standard library only)."""

STUDIO = ["ParticipantName", "RecordingResolution", "RecordingTimestamp", "StudioEvent", "MediaName",
          "MediaPosX (ADCSpx)", "MediaPosY (ADCSpx)", "MediaWidth", "MediaHeight",
          "GazePointLeftX (ADCSpx)", "GazePointLeftY (ADCSpx)", "GazePointRightX (ADCSpx)",
          "GazePointRightY (ADCSpx)", "ValidityLeft", "ValidityRight", "PupilLeft", "PupilRight",
          "EyePosLeftX (ADCSmm)", "EyePosLeftY (ADCSmm)", "EyePosLeftZ (ADCSmm)",
          "EyePosRightX (ADCSmm)", "EyePosRightY (ADCSmm)", "EyePosRightZ (ADCSmm)"]


def studio(sep, dec):
    """Two participants at 300 Hz with whole-ms time stamps: 0.6 s of face1.png, 0.6 s of
    face2.png, the left eye lost for 3 samples (validity 4), an ImageStart event row."""
    f = lambda v: str(v).replace(".", dec)
    lines = [sep.join(STUDIO)]
    for p, z in [("P01", 640.0), ("P02", 600.0)]:
        lines.append(sep.join([p, "1280 x 1024", "0", "ImageStart", "face1.png"] + [""] * 18))
        for k in range(360):
            t = round(k * 1000 / 300)
            media = "face1.png" if k < 180 else "face2.png"
            x = 400 if k < 90 else 800
            if k >= 180:
                x = 300 if k < 270 else 900
            vl = 4 if 50 <= k < 53 else 0
            gl = ["", ""] if vl == 4 else [str(x), "512"]
            lines.append(sep.join([p, "1280 x 1024", str(t), "", media, "240", "112", "800", "800"]
                                  + gl + [str(x), "512", str(vl), "0", f(3.1), f(3.2),
                                          f(600.0), f(500.0), f(z), f(660.0), f(500.0), f(z)]))
    return "\n".join(lines) + "\n"


PRO_LAB = ["Recording timestamp [μs]", "Participant name", "Recording resolution width",
           "Recording resolution height", "Sensor", "Event", "Presented Stimulus name",
           "Presented Media position X (DACSpx)", "Presented Media position Y (DACSpx)",
           "Presented Media width (px)", "Presented Media height (px)",
           "Gaze point left X [DACS px]", "Gaze point left Y [DACS px]",
           "Gaze point right X [DACS px]", "Gaze point right Y [DACS px]",
           "Validity left", "Validity right", "Pupil diameter left [mm]", "Pupil diameter right [mm]",
           "Eye position left X [DACS mm]", "Eye position left Y [DACS mm]",
           "Eye position left Z [DACS mm]", "Eye position right X [DACS mm]",
           "Eye position right Y [DACS mm]", "Eye position right Z [DACS mm]"]


def pro_lab(dec):
    """One participant at 120 Hz (µs): 2 s of face.png, an event row (no sensor), one mouse
    row, the right eye invalid once."""
    f = lambda v: str(v).replace(".", dec)
    lines = ["\t".join(PRO_LAB)]
    lines.append("\t".join(["1000000", "P07", "1920", "1080", "", "ImageStimulusStart"] + [""] * 19))
    for k in range(240):
        t = 1000000 + round(k * 1e6 / 120)
        x = 700 if k < 120 else 1200
        lines.append("\t".join([str(t), "P07", "1920", "1080", "Eye Tracker", "", "face.png", "560",
                                "140", "800", "800", f(x + 0.5), f(540.25), f(x + 0.5), f(540.25),
                                "Valid", "Valid" if k != 7 else "Invalid", f(3.25), f(3.3),
                                f(200.0), f(150.0), f(650.0), f(260.0), f(150.0), f(650.0)]))
        if k == 100:
            lines.append("\t".join([str(t + 10), "P07", "1920", "1080", "Mouse", "", "face.png",
                                    "560", "140", "800", "800"] + [""] * 14))
    return "\n".join(lines) + "\n"


def plain():
    """60 Hz, time in ms (header says so), x/y in px, a quoted header."""
    lines = ['"time [ms]","x","y"']
    for k in range(120):
        lines.append(f"{k * 1000 / 60:.3f},{960 if k < 60 else 400},540")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for name, text in [("studio.tsv", studio("\t", ".")),
                       ("studio.csv", studio(";", ",").replace("1280 x 1024", "1280x1024")),
                       ("prolab.tsv", pro_lab(".")), ("prolab_comma.tsv", pro_lab(",")),
                       ("plain.csv", plain())]:
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(text)
