//  Reference.swift
//
//  The namespace of the reference kernels: plain loops written straight from the derivations, generic over the
//  scalar type so gradient checks run in Double. They are the specification and the oracle; the fast kernels
//  are tested against them. One file per layer family, in its layer's folder: Layers/Conv2D/Reference+Conv2D.swift, ...

import RealModule

/// Index-by-index implementations of every op, generic over `TensorScalar` (Float and Double).
public enum Reference {}
