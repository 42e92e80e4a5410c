"""What the 随手拍 tests share: a phone photo that carries EXIF with GPS, and a reporter's planted details."""

from __future__ import annotations

import io

from PIL import ExifTags, Image, ImageDraw

#: A reporter's details, planted to be searched for where they must never appear.
PLANTED = {"name": "欧阳测试员", "phone": "13912345678", "email": "planted.reporter@example.cn"}
#: Where the photo's EXIF says it was taken (a reporter's home, say): must never be published.
GPS = {1: "N", 2: (29.0, 34.0, 41.0), 3: "E", 4: (106.0, 31.0, 58.0)}


def gps_photo(colour: tuple[int, int, int] = (180, 70, 50)) -> bytes:
    """A JPEG as a phone makes it: a picture with EXIF time, camera and GPS."""
    image = Image.new("RGB", (800, 600), (210, 220, 228))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 800, 600), fill=(118, 122, 128))
    draw.rectangle((80, 180, 320, 380), fill=colour)
    draw.ellipse((500, 240, 640, 380), fill=(60, 90, 150))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.DateTime] = "2026:11:30 08:15:00"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()
