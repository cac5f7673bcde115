import Testing
@testable import TrimtabKubeSandbox

@Suite("Patches")
struct PatchTests {
    @Test("merge patch follows RFC 7386's examples", arguments: [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"a":1,"e":null}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ])
    func mergePatch(original: String, patch: String, expected: String) throws {
        let result = MergePatch.apply(try JSONValue.parse(patch), to: try JSONValue.parse(original))
        #expect(result == (try JSONValue.parse(expected)))
    }

    static let pod: JSONValue = ["containers": [
        ["name": "app", "image": "a:1", "env": [["name": "A", "value": "1"], ["name": "B", "value": "2"]],
         "ports": [["containerPort": 80, "name": "http"]], "volumeMounts": [["mountPath": "/data", "name": "data"]]],
        ["name": "sidecar", "image": "s:1"],
    ], "tolerations": [["key": "x"]]]

    @Test("strategic merge patch merges lists by their merge keys", arguments: [
        // Changing one env var and adding one leaves the others and the other container alone.
        (#"{"containers":[{"name":"app","env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}"#,
         #"{"containers":[{"name":"app","image":"a:1","env":[{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}],"ports":[{"containerPort":80,"name":"http"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"name":"sidecar","image":"s:1"}],"tolerations":[{"key":"x"}]}"#),
        // $patch: delete removes one element; $setElementOrder is dropped.
        (#"{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"name":"sidecar","$patch":"delete"}]}"#,
         #"{"containers":[{"name":"app","image":"a:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"name":"http"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]}],"tolerations":[{"key":"x"}]}"#),
        // Lists without a merge key replace; null deletes a key; ports merge by containerPort.
        (#"{"tolerations":[{"key":"y"}],"containers":[{"name":"sidecar","image":null},{"name":"app","ports":[{"containerPort":80,"name":"web"}],"volumeMounts":[{"mountPath":"/cache","name":"cache"}]}]}"#,
         #"{"containers":[{"name":"app","image":"a:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"name":"web"}],"volumeMounts":[{"mountPath":"/data","name":"data"},{"mountPath":"/cache","name":"cache"}]},{"name":"sidecar"}],"tolerations":[{"key":"y"}]}"#),
        // A new container is appended.
        (#"{"containers":[{"name":"third","image":"t:1"}]}"#,
         #"{"containers":[{"name":"app","image":"a:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"ports":[{"containerPort":80,"name":"http"}],"volumeMounts":[{"mountPath":"/data","name":"data"}]},{"name":"sidecar","image":"s:1"},{"name":"third","image":"t:1"}],"tolerations":[{"key":"x"}]}"#),
    ])
    func strategicMergePatch(patch: String, expected: String) throws {
        let result = StrategicMergePatch.apply(try JSONValue.parse(patch), to: PatchTests.pod)
        #expect(result == (try JSONValue.parse(expected)))
    }

    @Test("JSON patch applies add, remove, replace, test, move and copy", arguments: [
        (#"[{"op":"add","path":"/b","value":2}]"#, #"{"a":1,"b":2,"l":[1,2]}"#),
        (#"[{"op":"add","path":"/l/-","value":3}]"#, #"{"a":1,"l":[1,2,3]}"#),
        (#"[{"op":"add","path":"/l/0","value":0}]"#, #"{"a":1,"l":[0,1,2]}"#),
        (#"[{"op":"remove","path":"/l/1"}]"#, #"{"a":1,"l":[1]}"#),
        (#"[{"op":"replace","path":"/a","value":"x"}]"#, #"{"a":"x","l":[1,2]}"#),
        (#"[{"op":"test","path":"/a","value":1},{"op":"remove","path":"/a"}]"#, #"{"l":[1,2]}"#),
        (#"[{"op":"move","from":"/a","path":"/m"}]"#, #"{"m":1,"l":[1,2]}"#),
        (#"[{"op":"copy","from":"/l","path":"/c"}]"#, #"{"a":1,"c":[1,2],"l":[1,2]}"#),
        (#"[{"op":"add","path":"/x~1y","value":true}]"#, #"{"a":1,"l":[1,2],"x/y":true}"#),
    ])
    func jsonPatch(patch: String, expected: String) throws {
        let result = try JSONPatch.apply(try JSONValue.parse(patch), to: ["a": 1, "l": [1, 2]])
        #expect(result == (try JSONValue.parse(expected)))
    }

    @Test("JSON patch failures are 422, malformed patches 400", arguments: [
        (#"[{"op":"test","path":"/a","value":2}]"#, 422),
        (#"[{"op":"replace","path":"/missing","value":2}]"#, 422),
        (#"[{"op":"remove","path":"/l/5"}]"#, 422),
        (#"[{"op":"add","path":"/no/such","value":2}]"#, 422),
        (#"{"op":"add"}"#, 400),
        (#"[{"op":"frobnicate","path":"/a"}]"#, 400),
    ])
    func jsonPatchFailures(patch: String, code: Int) throws {
        #expect {
            try JSONPatch.apply(try JSONValue.parse(patch), to: ["a": 1, "l": [1, 2]])
        } throws: { ($0 as? StatusError)?.code == code }
    }
}
