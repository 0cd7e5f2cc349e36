//  ForeignFiles.swift
//
//  Small PNGs written by ImageMagick 6.9.11 (Debian bookworm), base64, with the raw pixels ImageMagick itself
//  exports for them (`convert FILE -depth 8 gray:-`, `rgb:-`, `rgba:-`). Commands:
//    gray.png   convert -size 7x5 gradient:black-white -define png:color-type=0 -depth 8   (with gAMA, cHRM, bKGD, tIME, tEXt)
//    rgb.png    convert -size 9x4 gradient:red-blue -define png:color-type=2 -depth 8 -strip
//    rgba.png   convert -size 5x3 gradient:'rgba(255,0,0,0.1)'-'rgba(0,0,255,1)' -define png:color-type=6 -depth 8 -strip
//    pal.png    convert -size 6x4 plasma:fractal -seed 1 -colors 5 -strip -define png:color-type=3 -define png:bit-depth=4
//    gray16.png convert -size 7x5 gradient:black-white -depth 16 -strip
//    inter.png  convert -size 7x5 gradient:black-white -define png:color-type=0 -depth 8 -interlace PNG -strip

import Foundation

enum ForeignFiles {
    static let grayPNG = bytes("iVBORw0KGgoAAAANSUhEUgAAAAcAAAAFCAAAAACs8akEAAAABGdBTUEAALGPC/xhBQAAACBjSFJNAAB6JgAAgIQAAPoAAACA6AAAdTAAAOpgAAA6mAAAF3CculE8AAAAAmJLR0QA/4ePzL8AAAAHdElNRQfqCxYCIRNyDCtFAAAAFklEQVQI12NggABGewjN4oBKM/6H0AAZCgHJzSJzWgAAACV0RVh0ZGF0ZTpjcmVhdGUAMjAyNi0xMS0yMlQwMjozMzoxOSswMDowMNTPH8wAAAAldEVYdGRhdGU6bW9kaWZ5ADIwMjYtMTEtMjJUMDI6MzM6MTkrMDA6MDClkqdwAAAAAElFTkSuQmCC")
    static let grayRaw = bytes("AAAAAAAAAD8/Pz8/Pz9/f39/f39/v7+/v7+/v/////////8=")
    static let rgbPNG = bytes("iVBORw0KGgoAAAANSUhEUgAAAAkAAAAEAgMAAAAhYf1dAAAADFBMVEX/AACqAFVVAKoAAP9QAAc5AAAAF0lEQVQI12NgAILQUAeGVasaGP7/PwAAGiYFfcpWNR4AAAAASUVORK5CYII=")
    static let rgbRaw = bytes("/wAA/wAA/wAA/wAA/wAA/wAA/wAA/wAA/wAAqgBVqgBVqgBVqgBVqgBVqgBVqgBVqgBVqgBVVQCqVQCqVQCqVQCqVQCqVQCqVQCqVQCqVQCqAAD/AAD/AAD/AAD/AAD/AAD/AAD/AAD/AAD/")
    static let rgbaPNG = bytes("iVBORw0KGgoAAAANSUhEUgAAAAUAAAADAgMAAAAmWC1rAAAACVBMVEX/AAAXAOcAAP+yVUGkAAAAAnRSTlMajVW3yH4AAAARSURBVAjXY2BgYAh1YFjVAAAEhgHAZpuzdQAAAABJRU5ErkJggg==")
    static let rgbaRaw = bytes("/wAAGv8AABr/AAAa/wAAGv8AABoXAOeNFwDnjRcA540XAOeNFwDnjQAA//8AAP//AAD//wAA//8AAP//")
    static let palettePNG = bytes("iVBORw0KGgoAAAANSUhEUgAAAAYAAAAEBAMAAABfKlNwAAAAD1BMVEVjal+HiW8ihTU4NDGXWVwcIlfyAAAAGElEQVQI12NgZGBgUGZwYVA2EWFQNhABAAdyATssS5JRAAAAAElFTkSuQmCC")
    static let paletteRaw = bytes("Y2pfh4lvY2pfY2pfY2pfY2pfIoU1ODQxY2pfY2pfl1lcl1lcIoU1ODQxODQxl1lch4lvl1lcIoU1ODQxODQxY2pfh4lvl1lc")
    static let gray16PNG = bytes("iVBORw0KGgoAAAANSUhEUgAAAAcAAAAFEAAAAAD8YXVHAAAAGUlEQVQI12NgQAGMDihcFjSu/X8Uxf9RuABZbgPH5fTW1QAAAABJRU5ErkJggg==")
    static let interlacedPNG = bytes("iVBORw0KGgoAAAANSUhEUgAAAAcAAAAFCAAAAAHb9pmSAAAAH0lEQVQI12NgYGBg/M8AIRnrGSCAsR4iymgP5e+H0ACDtQUB6HW3dwAAAABJRU5ErkJggg==")

    static func bytes(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }
}
