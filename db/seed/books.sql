-- books.sql - the ten classic books (real authors and ISBN-13s). Idempotent: safe to load again.
INSERT INTO books (title, author, isbn, price, quantity, description) VALUES
	('Clean Code', 'Robert C. Martin', '9780132350884', 44.99, 25,
	 'A Handbook of Agile Software Craftsmanship.'),
	('The Pragmatic Programmer', 'David Thomas, Andrew Hunt', '9780135957059', 49.99, 30,
	 'Your Journey to Mastery, 20th Anniversary Edition.'),
	('Design Patterns', 'Erich Gamma, Richard Helm, Ralph Johnson, John Vlissides', '9780201633610', 54.99, 15,
	 'Elements of Reusable Object-Oriented Software.'),
	('Refactoring', 'Martin Fowler', '9780134757599', 47.99, 20,
	 'Improving the Design of Existing Code, Second Edition.'),
	('Introduction to Algorithms', 'Thomas H. Cormen, Charles E. Leiserson, Ronald L. Rivest, Clifford Stein', '9780262033848', 89.99, 10,
	 'The standard reference on algorithms, Third Edition.'),
	('Python Crash Course', 'Eric Matthes', '9781593279288', 39.99, 40,
	 'A Hands-On, Project-Based Introduction to Programming, 2nd Edition.'),
	('JavaScript: The Good Parts', 'Douglas Crockford', '9780596517748', 29.99, 35,
	 'Unearthing the Excellence in JavaScript.'),
	('Head First Design Patterns', 'Eric Freeman, Elisabeth Robson', '9780596007126', 49.99, 18,
	 'A Brain-Friendly Guide.'),
	('The DevOps Handbook', 'Gene Kim, Jez Humble, Patrick Debois, John Willis', '9781942788003', 34.99, 22,
	 'How to Create World-Class Agility, Reliability, and Security in Technology Organizations.'),
	('Kubernetes in Action', 'Marko Lukša', '9781617293726', 59.99, 12,
	 'Deploying and managing containerized applications with Kubernetes.')
ON CONFLICT (isbn) DO NOTHING;
