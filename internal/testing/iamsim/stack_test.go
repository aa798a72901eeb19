package iamsim

import (
	"encoding/json"
	"testing"
)

// TestResolve: the intrinsic functions a translated template's policies
// use, resolved as CloudFormation would for one stack.
func TestResolve(t *testing.T) {
	var tmpl map[string]any
	if err := json.Unmarshal([]byte(`{
	  "Parameters": {"Existing": {"Type": "String", "Default": ""}, "Bus": {"Type": "String", "Default": ""},
	                 "Days": {"Type": "Number", "Default": 400}},
	  "Conditions": {"Create": {"Fn::Equals": [{"Ref": "Existing"}, ""]}, "HasBus": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Bus"}, ""]}]},
	                 "Both": {"Fn::And": [{"Condition": "Create"}, {"Condition": "HasBus"}]}},
	  "Mappings": {"Writes": {"Row": {"Attributes": ["pk", "sk"]}}},
	  "Resources": {
	    "Table": {"Type": "AWS::DynamoDB::Table", "Condition": "Create"},
	    "Key": {"Type": "AWS::KMS::Key"},
	    "Queue": {"Type": "AWS::SQS::Queue"},
	    "FnRole": {"Type": "AWS::IAM::Role"},
	    "Named": {"Type": "AWS::Events::EventBus", "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-members"}}},
	    "Other": {"Type": "AWS::DynamoDB::Table", "Condition": "Both"}
	  }}`), &tmpl); err != nil {
		t.Fatal(err)
	}
	s := Stack{Account: "111122223333", Region: "us-east-1", Name: "st", Template: tmpl, Parameters: map[string]any{"Bus": "b"}}
	for _, c := range []struct{ in, want string }{
		{`{"Fn::If": ["Create", {"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Existing}"}]}`,
			`"arn:aws:dynamodb:us-east-1:111122223333:table/st-Table-A1B2C3D4E5F6"`},
		{`{"Fn::Sub": "${Table.Arn}/stream/*"}`, `"arn:aws:dynamodb:us-east-1:111122223333:table/st-Table-A1B2C3D4E5F6/stream/*"`},
		{`{"Fn::GetAtt": "Queue.Arn"}`, `"arn:aws:sqs:us-east-1:111122223333:st-Queue-A1B2C3D4E5F6"`},
		{`{"Fn::GetAtt": ["FnRole", "Arn"]}`, `"arn:aws:iam::111122223333:role/st-FnRole-A1B2C3D4E5F6"`},
		{`{"Fn::GetAtt": ["Named", "Arn"]}`, `"arn:aws:events:us-east-1:111122223333:event-bus/st-members"`},
		{`{"Fn::If": ["HasBus", {"Fn::Sub": "event-bus/${Bus}"}, "event-bus/default"]}`, `"event-bus/b"`},
		{`{"ForAllValues:StringEquals": {"dynamodb:Attributes": {"Fn::FindInMap": ["Writes", "Row", "Attributes"]}}}`,
			`{"ForAllValues:StringEquals":{"dynamodb:Attributes":["pk","sk"]}}`},
		{`["a", {"Fn::If": ["Create", {"Ref": "AWS::NoValue"}, "b"]}]`, `["a"]`},
		{`{"Fn::Sub": ["${X}-${AWS::StackName}-${!Literal}", {"X": {"Ref": "Days"}}]}`, `"400-st-${Literal}"`},
		{`{"Fn::Join": ["/", ["a", {"Ref": "Bus"}]]}`, `"a/b"`},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.in), &v); err != nil {
			t.Fatal(err)
		}
		got, err := s.Resolve(v)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if b, _ := json.Marshal(got); string(b) != c.want {
			t.Errorf("%s = %s, want %s", c.in, b, c.want)
		}
	}
	key, err := s.GetAtt("Key", "Arn")
	if err != nil || len(key) != len("arn:aws:kms:us-east-1:111122223333:key/")+36 {
		t.Errorf("Key.Arn = %q, %v: want a key ARN with a key id", key, err)
	}
	tables, err := s.Resources("AWS::DynamoDB::Table")
	if err != nil || len(tables) != 2 {
		t.Errorf("tables %v, %v: want both (Create and Both hold)", tables, err)
	}
	s.Parameters["Existing"] = "kept"
	if tables, _ := s.Resources("AWS::DynamoDB::Table"); len(tables) != 0 {
		t.Errorf("tables %v with Existing set, want none", tables)
	}
	for _, bad := range []string{`{"Fn::GetAZs": ""}`, `{"Ref": "Nothing"}`, `{"Fn::Sub": "${Nothing}"}`} {
		var v any
		_ = json.Unmarshal([]byte(bad), &v)
		if _, err := s.Resolve(v); err == nil {
			t.Errorf("%s resolved, want an error", bad)
		}
	}
}
