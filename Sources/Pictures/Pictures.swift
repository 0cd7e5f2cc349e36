//  Pictures.swift (placeholder)
