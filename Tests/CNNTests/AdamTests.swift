//  AdamTests.swift
//
//  Adam and AdamW against PyTorch 2.15 (torch.optim.Adam / AdamW, CPU, float32). Every case starts from
//  p₀ = [1, 2, −0.5] and sees the gradients g₁…g₄ below; the expected p, exp_avg and exp_avg_sq after each step
//  were printed by
//      p = torch.nn.Parameter(torch.tensor([1.0, 2.0, -0.5])); opt = torch.optim.Adam([p], **settings)
//      for g in gradients: p.grad = torch.tensor(g); opt.step(); print(p, opt.state[p]["exp_avg"], ["exp_avg_sq"])
//  and, for the one-cycle case, with OneCycleLR(opt, max_lr=0.1, total_steps=4, pct_start=0.5) stepped after
//  each step (which also cycles β₁). Float32 on both sides; the tolerance 2e-6 allows for the order of
//  operations in the last bit.

import CNN
import TestSupport
import XCTest

final class AdamTests: XCTestCase {
    private let gradients: [[Float]] = [[1, -2, 0.3], [0.5, 0, -1], [-1, 1, 2], [0.25, 0.5, -0.75]]

    /// (p, exp_avg, exp_avg_sq) after each step, as PyTorch printed them.
    private typealias Expected = [(p: [Float], m: [Float], v: [Float])]

    private func assertSteps(_ make: (Parameter) -> Adam, _ expected: Expected, rates: [Float]? = nil, betas: [Double]? = nil,
                             _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let p = Parameter(name: "weight", value: Tensor(shape: [3], scalars: [1, 2, -0.5]))
        let adam = make(p)
        for (step, g) in gradients.enumerated() {
            if let rates { adam.learningRate = rates[step] }
            if let betas { adam.scheduledMomentum = betas[step] }
            p.gradient = Tensor(shape: [3], scalars: g)
            adam.step()
            let e = expected[step]
            assertClose(p.value, Tensor(shape: [3], scalars: e.p), rtol: 2e-6, atol: 2e-6, "\(what): p after step \(step + 1)",
                        file: file, line: line)
            assertClose(adam.firstMoments[0], Tensor(shape: [3], scalars: e.m), rtol: 2e-6, atol: 2e-6,
                        "\(what): exp_avg after step \(step + 1)", file: file, line: line)
            assertClose(adam.secondMoments[0], Tensor(shape: [3], scalars: e.v), rtol: 2e-6, atol: 1e-9,
                        "\(what): exp_avg_sq after step \(step + 1)", file: file, line: line)
            XCTAssertEqual(p.gradient, Tensor(shape: [3], repeating: 0), "\(what): gradient zeroed", file: file, line: line)
            XCTAssertEqual(adam.stepCount, step + 1, file: file, line: line)
        }
    }

    /// Adam(lr=0.1): with the defaults β = (0.9, 0.999), ε = 1e-8.
    func testAdamMatchesPyTorch() {
        assertSteps({ Adam(parameters: [$0], learningRate: 0.1) }, [
            ([0.9000000357627869, 2.0999999046325684, -0.5999999642372131], [0.10000000149011612, -0.20000000298023224, 0.030000001192092896], [0.0010000000474974513, 0.004000000189989805, 9.000000864034519e-05]),
            ([0.806782066822052, 2.167005777359009, -0.5479667782783508], [0.14000000059604645, -0.18000000715255737, -0.0729999989271164], [0.0012490000808611512, 0.003996000159531832, 0.0010899100452661514]),
            ([0.7957037687301636, 2.184732437133789, -0.5859981179237366], [0.026000000536441803, -0.06199999898672104, 0.13429999351501465], [0.002247751224786043, 0.004992004483938217, 0.005088820122182369]),
            ([0.7771897912025452, 2.1862053871154785, -0.5972162485122681], [0.04839999973773956, -0.005800000391900539, 0.045869991183280945], [0.002308003371581435, 0.0052370126359164715, 0.005646231584250927]),
        ], "Adam")
    }

    /// Adam(lr=0.1, weight_decay=0.1): L2, added to the gradient.
    func testAdamWeightDecayMatchesPyTorch() {
        assertSteps({ Adam(parameters: [$0], learningRate: 0.1, weightDecay: 0.1) }, [
            ([0.8999999761581421, 2.0999999046325684, -0.5999999642372131], [0.11000000685453415, -0.17999999225139618, 0.02500000037252903], [0.0012100001331418753, 0.0032399999909102917, 6.25000029685907e-05]),
            ([0.8057717680931091, 2.157926559448242, -0.5429454445838928], [0.15800000727176666, -0.14099998772144318, -0.08349999040365219], [0.0015568900853395462, 0.0032808599062263966, 0.0011860374361276627]),
            ([0.7850507497787476, 2.159485101699829, -0.5771629214286804], [0.05025772005319595, -0.0053207166492938995, 0.11942054331302643], [0.002400671597570181, 0.004755730740725994, 0.004970621317625046]),
            ([0.7563879489898682, 2.1425631046295166, -0.583710789680481], [0.07808245718479156, 0.06680621206760406, 0.026706857606768608], [0.0025061864871531725, 0.005263557191938162, 0.005618056282401085]),
        ], "Adam with weight decay")
    }

    /// AdamW(lr=0.1, weight_decay=0.1): decoupled, p·(1 − ηλ) first; the moments are plain Adam's.
    func testAdamWMatchesPyTorch() {
        assertSteps({ Adam(parameters: [$0], learningRate: 0.1, weightDecay: 0.1, weightDecayMode: .decoupled) }, [
            ([0.89000004529953, 2.0799999237060547, -0.5949999690055847], [0.10000000149011612, -0.20000000298023224, 0.030000001192092896], [0.0010000000474974513, 0.004000000189989805, 9.000000864034519e-05]),
            ([0.7878820896148682, 2.1262059211730957, -0.5370168089866638], [0.14000000059604645, -0.18000000715255737, -0.0729999989271164], [0.0012490000808611512, 0.003996000159531832, 0.0010899100452661514]),
            ([0.7689249515533447, 2.1226706504821777, -0.569678008556366], [0.026000000536441803, -0.06199999898672104, 0.13429999351501465], [0.002247751224786043, 0.004992004483938217, 0.005088820122182369]),
            ([0.7427217364311218, 2.102916955947876, -0.5751993656158447], [0.04839999973773956, -0.005800000391900539, 0.045869991183280945], [0.002308003371581435, 0.0052370126359164715, 0.005646231584250927]),
        ], "AdamW")
    }

    /// AdamW(lr=0.01, betas=(0.7, 0.9), eps=1e-3): other β and ε (the default weight decay 0.01).
    func testAdamWWithOtherBetasMatchesPyTorch() {
        assertSteps({ Adam(parameters: [$0], learningRate: 0.01, beta1: 0.7, beta2: 0.9, epsilon: 1e-3, weightDecay: 0.01,
                           weightDecayMode: .decoupled) }, [
            ([0.9899099469184875, 2.0097949504852295, -0.5099167823791504], [0.30000001192092896, -0.6000000238418579, 0.09000000357627869], [0.10000000149011612, 0.4000000059604645, 0.009000000543892384]),
            ([0.9807493686676025, 2.0155723094940186, -0.503713071346283], [0.36000001430511475, -0.42000001668930054, -0.2370000183582306], [0.11499999463558197, 0.35999998450279236, 0.10810000449419022]),
            ([0.9814934134483337, 2.0152976512908936, -0.508536696434021], [-0.04800000786781311, 0.0060000233352184296, 0.4341000020503998], [0.20350000262260437, 0.42399996519088745, 0.4972900152206421]),
            ([0.9806621074676514, 2.0132317543029785, -0.5093426704406738], [0.041399996727705, 0.15420003235340118, 0.07886997610330582], [0.18939998745918274, 0.4065999686717987, 0.5038110017776489]),
        ], "AdamW, β = (0.7, 0.9), ε = 1e-3")
    }

    /// Adam under OneCycleLR(max_lr=0.1, total_steps=4, pct_start=0.5): the rate and β₁ of each step come from the
    /// schedule, and the bias correction uses the β₁ of the step, as in PyTorch.
    func testAdamUnderOneCycleMatchesPyTorch() {
        let plan = LearningRatePlan(base: 0.1, schedule: .oneCycle(OneCycle(pctStart: 0.5)), stepsPerEpoch: 4, totalSteps: 4)
        assertSteps({ Adam(parameters: [$0], learningRate: 0.1) }, [
            ([0.9959999918937683, 2.003999948501587, -0.5040000081062317], [0.05000000074505806, -0.10000000149011612, 0.015000000596046448], [0.0010000000474974513, 0.004000000189989805, 9.000000864034519e-05]),
            ([0.9424326419830322, 2.0256645679473877, -0.43701764941215515], [0.11749999970197678, -0.08500000089406967, -0.13725000619888306], [0.0012490000808611512, 0.003996000159531832, 0.0010899100452661514]),
            ([0.9412076473236084, 2.0223050117492676, -0.4478458762168884], [0.005750003270804882, 0.023500004783272743, 0.07647499442100525], [0.002247751224786043, 0.004992004483938217, 0.005088820122182369]),
            ([0.9412075877189636, 2.0223050117492676, -0.4478459358215332], [0.0179625041782856, 0.047325003892183304, 0.03515124320983887], [0.002308003371581435, 0.0052370126359164715, 0.005646231584250927]),
        ], rates: (0..<4).map { Float(plan.rate(atStep: $0)) }, betas: (0..<4).map { plan.momentum(atStep: $0)! },
        "Adam + OneCycleLR")
    }

    /// The state by name: a second optimizer restored from the first's state after two steps takes the same third
    /// step, bit for bit; a state of the wrong shape or with a missing or foreign tensor is refused.
    func testStateRestoresExactlyAndIsChecked() throws {
        func make() -> (Parameter, Adam) {
            let p = Parameter(name: "weight", value: Tensor(shape: [3], scalars: [1, 2, -0.5]))
            return (p, Adam(parameters: [p], learningRate: 0.1, weightDecay: 0.1, weightDecayMode: .decoupled))
        }
        let (p, a) = make()
        for g in gradients.prefix(2) { p.gradient = Tensor(shape: [3], scalars: g); a.step() }
        XCTAssertEqual(a.state.map(\.name), ["step", "exp_avg.0", "exp_avg_sq.0"])
        XCTAssertEqual(a.state[0].tensor.scalars, [2])
        let (q, b) = make()
        q.value = p.value
        try b.restore(a.state)
        XCTAssertEqual(b.stepCount, 2)
        for (param, opt) in [(p, a), (q, b)] { param.gradient = Tensor(shape: [3], scalars: gradients[2]); opt.step() }
        XCTAssertEqual(p.value, q.value)
        XCTAssertEqual(a.firstMoments, b.firstMoments)
        XCTAssertEqual(a.secondMoments, b.secondMoments)

        XCTAssertThrowsError(try b.restore(Array(a.state.dropFirst()))) { XCTAssertEqual($0 as? OptimizerStateError, .missing("step")) }
        var wrong = a.state
        wrong[1].tensor = Tensor(shape: [4])
        XCTAssertThrowsError(try b.restore(wrong)) {
            XCTAssertEqual($0 as? OptimizerStateError, .wrongShape("exp_avg.0", found: [4], expected: [3]))
        }
        XCTAssertThrowsError(try b.restore(a.state + [("velocity.0", Tensor(shape: [3]))])) {
            XCTAssertEqual($0 as? OptimizerStateError, .unexpected("velocity.0"))
        }
        XCTAssertThrowsError(try b.restore([("step", Tensor(shape: [], scalars: [1.5]))] + a.state.dropFirst())) {
            XCTAssertEqual($0 as? OptimizerStateError, .badValue("step"))
        }
        // SGD's state is its velocities, by the same names as before the protocol.
        let sgd = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9)
        XCTAssertEqual(sgd.state.map(\.name), ["velocity.0"])
        XCTAssertEqual(OptimizerKind.adamw.stateLayout(parameterShapes: [[2, 3], [3]]).map(\.name),
                       ["step", "exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1"])
    }
}
