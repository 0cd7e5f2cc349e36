//  InferenceError.swift
//
//  What can stop a prediction or a look inside a checkpoint, as one line naming the file.

import Foundation

/// Problems with the images given to a checkpoint's network, or with what is asked of the network.
public enum InferenceError: Error, LocalizedError, Equatable, Sendable {
    /// The image has no ink: every pixel is within the threshold of the background.
    case blankImage(file: String)
    /// The checkpoint's network has no convolution layer to draw the filters of.
    case noConvolution(checkpoint: String)
    /// The checkpoint does not take one-channel images, which is what digit preprocessing makes.
    case notGrayscale(checkpoint: String, channels: Int)

    public var errorDescription: String? {
        switch self {
        case let .blankImage(f):
            return "\(f): no digit found: the image is blank (no pixel stands out from the background)"
        case let .noConvolution(f):
            return "\(f): the network has no convolution layer, so there are no filters to draw"
        case let .notGrayscale(f, c):
            return "\(f): the network takes \(c)-channel images; digit preprocessing makes 1-channel ones"
        }
    }
}
